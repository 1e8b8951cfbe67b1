/* Data files for the loader tests, written into a scratch directory. */
#ifndef LOADER_FIXTURES_H
#define LOADER_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

/* Writes n bytes to dir/name (gzip-compressed when gz) and returns the path
 * in a static ring of buffers (valid for the next 7 calls). Aborts on error. */
const char *fx_write(const char *dir, const char *name, const void *bytes, size_t n, int gz);

/* IDX images: magic 0x00000803, count, rows, cols, pixels; pixel (i, y, x) of
 * image i is fx_pixel(i, y, x). Caller frees. */
uint8_t *fx_idx_images(uint32_t count, uint32_t rows, uint32_t cols, size_t *n);
uint8_t fx_pixel(uint32_t i, uint32_t y, uint32_t x);
/* IDX labels: magic 0x00000801, count, label i = i % classes. Caller frees. */
uint8_t *fx_idx_labels(uint32_t count, int classes, size_t *n);
/* An llm.c token shard of `count` tokens, token i = (first + i) % modulo. Caller frees. */
uint8_t *fx_shard(uint32_t count, uint32_t first, uint32_t modulo, size_t *n);
/* Threads of this process (entries of /proc/self/task). */
int fx_thread_count(void);
/* Polls until the thread count is at most `want` or `ms` pass; returns the count. */
int fx_wait_threads(int want, int ms);

#endif
