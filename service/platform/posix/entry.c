/* Process entry on POSIX: argv is already UTF-8 (we assume a UTF-8 locale). */
#include "../../cli.h"

int main(int argc, char **argv)
{
    return xb_main(argc, argv);
}
