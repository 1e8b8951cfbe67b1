#include "sweeps/ini.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *sw_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

/* Cuts an inline comment (';' after white space) off s. */
static void cut_comment(char *s)
{
	for (char *c = s; *c; c++)
		if (*c == ';' && c > s && isspace((unsigned char)c[-1])) {
			*c = 0;
			return;
		}
}

struct state {
	const struct sw_ini_reader *r;
	char section[64];
	char last_key[64]; /* the last key of this section, for a continuation line */
};

static void syntax_error(struct state *st, int line)
{
	st->r->error(st->r->user, line, "syntax error: expected '[section]' or 'key = value'");
}

static void on_header(struct state *st, char *s, int line)
{
	char *close = strchr(s, ']');
	char *rest = close ? sw_trim(close + 1) : NULL;
	if (!close || (*rest && *rest != ';' && *rest != '#')) {
		syntax_error(st, line);
		return;
	}
	*close = 0;
	char *name = sw_trim(s + 1);
	snprintf(st->section, sizeof st->section, "%s", name);
	st->last_key[0] = 0;
	st->r->section(st->r->user, name, line);
}

/* One line without its '\n', modified in place. */
static void on_line(struct state *st, char *raw, int line)
{
	int indented = raw[0] == ' ' || raw[0] == '\t';
	char *s = sw_trim(raw), msg[160];
	if (!*s || *s == ';' || *s == '#')
		return;
	if (*s == '[') {
		on_header(st, s, line);
		return;
	}
	size_t sep = strcspn(s, "=:");
	if (s[sep] == ':') { /* INI elsewhere, but a plan says 'key = value' */
		snprintf(msg, sizeof msg, "expected 'key = value', got ':' after '%.*s'", (int)(sep < 60 ? sep : 60), s);
		st->r->error(st->r->user, line, msg);
		return;
	}
	if (!s[sep]) {
		if (indented && st->last_key[0]) {
			snprintf(msg, sizeof msg, "indented line continues key '%s'; write each key on one line", st->last_key);
			st->r->error(st->r->user, line, msg);
		} else {
			syntax_error(st, line);
		}
		return;
	}
	s[sep] = 0;
	char *name = sw_trim(s), *value = s + sep + 1;
	cut_comment(value);
	if (!*name) {
		syntax_error(st, line);
		return;
	}
	snprintf(st->last_key, sizeof st->last_key, "%s", name);
	st->r->key(st->r->user, st->section, name, sw_trim(value), line);
}

int sw_ini_read(const char *text, size_t len, const struct sw_ini_reader *r)
{
	struct state st = { .r = r };
	const char *nul = memchr(text, 0, len);
	if (nul) {
		int line = 1;
		for (const char *c = text; c < nul; c++)
			line += *c == '\n';
		r->error(r->user, line, "contains a NUL byte");
		return 0;
	}
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		text += 3, len -= 3; /* a UTF-8 byte-order mark, as some editors write */
	char *copy = malloc(len + 1);
	if (!copy)
		return -1;
	memcpy(copy, text, len);
	copy[len] = 0;
	int line = 0;
	for (char *s = copy; s < copy + len;) {
		char *nl = memchr(s, '\n', (size_t)(copy + len - s));
		if (nl)
			*nl = 0;
		on_line(&st, s, ++line);
		s = nl ? nl + 1 : copy + len;
	}
	free(copy);
	return 0;
}
