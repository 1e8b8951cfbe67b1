/*
 * tests/emu/fake/cub/device/device_radix_sort.cuh — cub::DeviceRadixSort::SortPairs
 * on the CPU: a stable sort by key over bits [begin_bit, end_bit), queued on
 * the stream; the first call (no temporary storage) asks for the bytes.
 */
#ifndef EMU_FAKE_CUB_RADIX_SORT_H
#define EMU_FAKE_CUB_RADIX_SORT_H
#include <algorithm>
#include <vector>

#include "../../cuda_runtime.h"

namespace cub {
struct DeviceRadixSort {
	template <typename K, typename V>
	static cudaError_t SortPairs(void *tmp, size_t &tmp_bytes, const K *keys_in, K *keys_out, const V *vals_in,
				     V *vals_out, int n, int begin_bit = 0, int end_bit = sizeof(K) * 8,
				     cudaStream_t s = NULL)
	{
		size_t need = (size_t)n * (sizeof(K) + sizeof(V)) + 256;
		if (!tmp) {
			tmp_bytes = need;
			return cudaSuccess;
		}
		emu_guard g;
		if (tmp_bytes < need || !emu_is_device(tmp, need))
			return cudaErrorInvalidValue;
		if (n > 0 && (!emu_is_device(keys_in, n * sizeof(K)) || !emu_is_device(keys_out, n * sizeof(K)) ||
			      !emu_is_device(vals_in, n * sizeof(V)) || !emu_is_device(vals_out, n * sizeof(V))))
			emu_fatal("cub::DeviceRadixSort::SortPairs: an operand is not device memory");
		if (n > 0 && ((uintptr_t)keys_out < (uintptr_t)(keys_in + n) && (uintptr_t)keys_in < (uintptr_t)(keys_out + n)))
			emu_fatal("cub::DeviceRadixSort::SortPairs: the output keys overlap the input keys");
		if (n > 0 && ((uintptr_t)vals_out < (uintptr_t)(vals_in + n) && (uintptr_t)vals_in < (uintptr_t)(vals_out + n)))
			emu_fatal("cub::DeviceRadixSort::SortPairs: the output values overlap the input values");
		emu_enqueue(s, [=] {
			using U = typename std::make_unsigned<K>::type;
			U lo = begin_bit ? (U)((U)1 << begin_bit) - 1 : 0, span = end_bit >= (int)sizeof(K) * 8 ? (U)~(U)0 : (U)(((U)1 << end_bit) - 1);
			U mask = span & (U)~lo;
			std::vector<int> idx(n);
			for (int i = 0; i < n; i++)
				idx[i] = i;
			/* radix order of signed keys: the sign bit flipped */
			U flip = std::is_signed<K>::value ? (U)((U)1 << (sizeof(K) * 8 - 1)) : 0;
			std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) {
				return (((U)keys_in[a] ^ flip) & mask) < (((U)keys_in[b] ^ flip) & mask);
			});
			std::vector<K> k(n);
			std::vector<V> v(n);
			for (int i = 0; i < n; i++)
				k[i] = keys_in[idx[i]], v[i] = vals_in[idx[i]];
			std::copy(k.begin(), k.end(), keys_out);
			std::copy(v.begin(), v.end(), vals_out);
		});
		return cudaSuccess;
	}
};
} // namespace cub
#endif
