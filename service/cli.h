/* The command line of the companion, shared by the POSIX and Windows entry points. */
#ifndef XB_CLI_H
#define XB_CLI_H

/* argv is UTF-8 on every platform. Returns the process exit code:
 * 0 success, 1 the command failed, 2 usage error. */
int xb_main(int argc, char **argv);

#endif
