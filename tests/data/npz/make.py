# Writes the .npz fixtures of tests/unit/quant/test_data_stream.cc with numpy's own writer
# (np.savez stores members, np.savez_compressed deflates them; both with zip64 records).
#   cd tests/data/npz && /usr/bin/python3 make.py
import numpy as np

x = (np.arange(12, dtype=np.float32).reshape(3, 4) / 4 - 1).astype(np.float32)
ids = np.array([[0, 1, 2], [3, 4, 5], [9, 8, 7]], dtype=np.int32)
np.savez("two_inputs.npz", x=x, ids=ids)
np.savez_compressed("two_inputs_compressed.npz", x=x, ids=ids)
np.savez("extra_array.npz", x=x, ids=ids, mask=np.ones((3, 3), np.float32))  # 'mask' feeds nothing
np.savez("float_ids.npz", x=x, ids=ids.astype(np.float32))  # floats for an integer input
np.savez("big_ids.npz", x=x, ids=(ids * 100).astype(np.int64))  # values beyond int8
