/*
 * trainer/commands.h — the subcommands: each parses its own options and
 * returns the process exit code (see kernels/error.h). `usage` prints the
 * command's --help text.
 */
#ifndef TR_COMMANDS_H
#define TR_COMMANDS_H

#include <stdio.h>

struct tr_command {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *out);
	const char *summary;
};

int cmd_train(int argc, char **argv);
void cmd_train_usage(FILE *out);

/* Prints "amptune <cmd>: <msg>\nusage hint" for a usage error and returns 64. */
int tr_usage_error(const char *cmd, const char *msg);

#endif
