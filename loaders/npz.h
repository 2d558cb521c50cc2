// NumPy .npz archives (np.savez / np.savez_compressed): a zip of .npy members, stored or
// deflated, zip64 records included (numpy writes every member with zip64 sizes).
#pragma once
#include <string>
#include <vector>

#include "engine/host_tensor.h"

namespace octet {

// Every array of the archive, in the order of its directory, each named after its member
// without ".npy" (np.savez(f, input=x) gives "input"). Errors name the file and the member.
std::vector<HostTensor> load_npz(const std::string& path);
std::vector<HostTensor> parse_npz(const void* data, size_t size, const std::string& source);

}  // namespace octet
