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
int cmd_sweep(int argc, char **argv);   /* sweeps/cmd_sweep.c */
void cmd_sweep_usage(FILE *out);
int cmd_merge(int argc, char **argv);   /* sweeps/cmd_merge.c */
void cmd_merge_usage(FILE *out);
/* reports/: cmd_report.c, cmd_estimate.c */
int cmd_report(int argc, char **argv);
void cmd_report_usage(FILE *out);
int cmd_compare(int argc, char **argv);
void cmd_compare_usage(FILE *out);
int cmd_diagnose(int argc, char **argv);
void cmd_diagnose_usage(FILE *out);
int cmd_estimate(int argc, char **argv);
void cmd_estimate_usage(FILE *out);

/* Prints "amptune <cmd>: <msg>\nusage hint" for a usage error and returns 64. */
int tr_usage_error(const char *cmd, const char *msg);
/* Drops a directory argument's trailing slashes in place ("runs/x/" -> "runs/x"; "/" stays), so
 * that paths made from it read "runs/x/results.jsonl"; returns dir. */
char *tr_trim_dir(char *dir);

#endif
