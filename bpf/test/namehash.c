// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Prints the C name hash of each argument as a JSON object; name-hash.vectors.test compares it with TS. */
#include <stdio.h>
#include <string.h>
#include "../name_hash.h"

int main(int argc, char **argv)
{
	printf("{");
	for (int i = 1; i < argc; i++)
		printf("%s\"%s\":\"%llu\"", i > 1 ? "," : "", argv[i], sluice_name_hash(argv[i], strlen(argv[i])));
	printf("}\n");
	return 0;
}
