/* The anchor of the BTF resolution benchmark: open a BTF file with libbpf,
 * then resolve each STRUCT.member of a list (descending into anonymous
 * members), as a C tool built on libbpf would. Prints `STRUCT.member OFFSET`
 * lines so the output can be compared with ours. */
#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long find_member(const struct btf *btf, __u32 id, const char *name, long base)
{
	const struct btf_type *t = btf__type_by_id(btf, btf__resolve_type(btf, id));
	if (!t || !(btf_is_struct(t) || btf_is_union(t)))
		return -1;
	const struct btf_member *m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *n = btf__name_by_offset(btf, m->name_off);
		long off = base + btf_member_bit_offset(t, i);
		if (n && strcmp(n, name) == 0)
			return off;
		if (!n || !n[0]) {
			long r = find_member(btf, m->type, name, off);
			if (r >= 0)
				return r;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s BTF_FILE PAIRS_FILE\n", argv[0]);
		return 2;
	}
	struct btf *btf = btf__parse(argv[1], NULL);
	if (!btf) {
		fprintf(stderr, "cannot parse %s\n", argv[1]);
		return 1;
	}
	FILE *f = fopen(argv[2], "r");
	if (!f)
		return 1;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *dot = strchr(line, '.');
		if (!dot)
			continue;
		*dot = 0;
		int id = btf__find_by_name_kind(btf, line, BTF_KIND_STRUCT);
		long off = id > 0 ? find_member(btf, id, dot + 1, 0) : -1;
		printf("%s.%s %ld\n", line, dot + 1, off < 0 ? -1 : off / 8);
	}
	btf__free(btf);
	return 0;
}
