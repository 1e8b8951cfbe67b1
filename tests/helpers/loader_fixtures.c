#include "loader_fixtures.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

const char *fx_write(const char *dir, const char *name, const void *bytes, size_t n, int gz)
{
	static char ring[8][1024];
	static int next;
	char *path = ring[next++ % 8];
	snprintf(path, sizeof ring[0], "%s/%s", dir, name);
	if (gz) {
		gzFile f = gzopen(path, "wb");
		if (!f || (n && gzwrite(f, bytes, (unsigned)n) != (int)n) || gzclose(f) != Z_OK)
			abort();
	} else {
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(bytes, 1, n, f) != n || fclose(f))
			abort();
	}
	return path;
}

uint8_t fx_pixel(uint32_t i, uint32_t y, uint32_t x) { return (uint8_t)(i * 7 + y * 31 + x * 3 + (i >> 8)); }

uint8_t *fx_idx_images(uint32_t count, uint32_t rows, uint32_t cols, size_t *n)
{
	*n = 16 + (size_t)count * rows * cols;
	uint8_t *b = malloc(*n);
	if (!b)
		abort();
	put_be32(b, 0x00000803);
	put_be32(b + 4, count);
	put_be32(b + 8, rows);
	put_be32(b + 12, cols);
	for (uint32_t i = 0; i < count; i++)
		for (uint32_t y = 0; y < rows; y++)
			for (uint32_t x = 0; x < cols; x++)
				b[16 + ((size_t)i * rows + y) * cols + x] = fx_pixel(i, y, x);
	return b;
}

uint8_t *fx_idx_labels(uint32_t count, int classes, size_t *n)
{
	*n = 8 + (size_t)count;
	uint8_t *b = malloc(*n);
	if (!b)
		abort();
	put_be32(b, 0x00000801);
	put_be32(b + 4, count);
	for (uint32_t i = 0; i < count; i++)
		b[8 + i] = (uint8_t)(i % (uint32_t)classes);
	return b;
}

uint8_t *fx_shard(uint32_t count, uint32_t first, uint32_t modulo, size_t *n)
{
	*n = 1024 + 2 * (size_t)count;
	uint8_t *b = calloc(1, *n);
	if (!b)
		abort();
	put_le32(b, 20240520);
	put_le32(b + 4, 1);
	put_le32(b + 8, count);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t t = (first + i) % modulo;
		b[1024 + 2 * i] = (uint8_t)t;
		b[1024 + 2 * i + 1] = (uint8_t)(t >> 8);
	}
	return b;
}

int fx_thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	struct dirent *e;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int fx_wait_threads(int want, int ms)
{
	int n = fx_thread_count();
	for (int i = 0; i < ms && n > want; i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		n = fx_thread_count();
	}
	return n;
}
