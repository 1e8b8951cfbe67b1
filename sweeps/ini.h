/*
 * The INI reader of plan files (and of a sweep directory's plan.ini when a
 * report reads its name and prices): '[section]' headers, 'key = value'
 * lines (indented or not), ';' and '#' comment lines, ' ;' inline comments,
 * '\r\n' line ends, and no limit on a line's length.
 */
#ifndef AMPTUNE_SWEEPS_INI_H
#define AMPTUNE_SWEEPS_INI_H

#include <stddef.h>

struct sw_ini_reader {
	void *user;
	/* a header, its name trimmed */
	void (*section)(void *user, const char *name, int line);
	/* a key of `section` ("" before any header), name and value trimmed */
	void (*key)(void *user, const char *section, const char *name, const char *value, int line);
	/* a line that is neither, with why ("syntax error: ...", ...) */
	void (*error)(void *user, int line, const char *msg);
};

/* s without its leading and trailing white space (cut in place) */
char *sw_trim(char *s);

/* Reads len bytes of text; a UTF-8 byte-order mark at the start is skipped, and text holding a NUL
 * byte is one error ("contains a NUL byte", at its line) with nothing read. Returns 0, or -1 out
 * of memory. */
int sw_ini_read(const char *text, size_t len, const struct sw_ini_reader *r);

#endif
