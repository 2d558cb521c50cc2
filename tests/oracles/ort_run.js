// Test oracle: runs an ONNX model in ONNX Runtime (onnxruntime-node, CPU, graph optimization
// "all", one thread) on .npy inputs, samples along axis 0 one at a time, and writes each output
// as OUT_DIR/NAME.npy (samples stacked on axis 0).
//   node ort_run.js MODEL OUT_DIR INPUT_NAME=FILE.npy [...]
// NODE_PATH must reach onnxruntime-node (tools/install_deps.sh --oracles puts it in
// /var/cache/octet/oracles/node_modules).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array], '|u1': ['uint8', Uint8Array],
  '|i1': ['int8', Int8Array], '<i4': ['int32', Int32Array], '<i8': ['int64', BigInt64Array],
  '<u2': ['uint16', Uint16Array], '<i2': ['int16', Int16Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(file + ': not a .npy file');
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(file + ': Fortran order');
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const t = NPY_TYPES[descr];
  if (!t) throw new Error(file + ': dtype ' + descr + ' is not handled');
  const data = buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length);
  return { type: t[0], data: new t[1](data), shape };
}

function writeNpy(file, type, data, shape) {
  const descr = Object.keys(NPY_TYPES).find(k => NPY_TYPES[k][0] === type);
  if (!descr) throw new Error('output type ' + type + ' is not handled');
  let header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" +
               shape.join(', ') + (shape.length === 1 ? ',' : '') + '), }';
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'),
                                        Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

async function main() {
  const [model, outDir, ...specs] = process.argv.slice(2);
  if (!model || !outDir || !specs.length) {
    console.error('usage: node ort_run.js MODEL OUT_DIR INPUT_NAME=FILE.npy [...]');
    process.exit(2);
  }
  const inputs = specs.map(s => {
    const eq = s.indexOf('=');
    return { name: s.slice(0, eq), npy: readNpy(s.slice(eq + 1)) };
  });
  const session = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'],
  });
  const rows = inputs[0].npy.shape[0];
  const outputs = {};
  for (let r = 0; r < rows; ++r) {
    const feeds = {};
    for (const inp of inputs) {
      const per = inp.npy.data.length / inp.npy.shape[0];
      const dims = [1].concat(inp.npy.shape.slice(1));
      feeds[inp.name] = new ort.Tensor(inp.npy.type, inp.npy.data.slice(r * per, (r + 1) * per), dims);
    }
    const result = await session.run(feeds);
    for (const name of session.outputNames) {
      const t = result[name];
      if (!outputs[name]) outputs[name] = { type: t.type, dims: t.dims, parts: [] };
      outputs[name].parts.push(t.data);
    }
  }
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, o] of Object.entries(outputs)) {
    const per = o.parts[0].length;
    const all = new o.parts[0].constructor(per * o.parts.length);
    o.parts.forEach((p, k) => all.set(p, k * per));
    writeNpy(path.join(outDir, name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy'), o.type, all,
             [o.parts.length].concat(o.dims.slice(1)));
  }
}

main().catch(e => { console.error('ort_run: ' + (e && e.message || e)); process.exit(1); });
