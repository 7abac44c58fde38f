#!/bin/sh
# House-rule checks a grep can make (../shared/STYLE.md): banned functions,
# floating point on money paths, SQL outside db/, and the one-way request
# path (fcgi/ and sched/ reach db/ only through core/ops/).  A line may
# carry an exception as a comment "lint-ok: REASON", except the last rule.
set -u
cd "$(dirname "$0")/.."
fail=0
src=$(git ls-files '*.c' '*.h' 2>/dev/null | grep -v '^tests/' | grep -v '^bench/')
[ -n "$src" ] || src=$(find core db fcgi sched net -name '*.[ch]')

report() { # TITLE HITS
	[ -z "$2" ] && return
	printf 'lint: %s\n%s\n' "$1" "$2"
	fail=1
}

banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strncat|gets|strtok|atoi|atol|atof|sscanf|localtime|gmtime|rand|system)[[:space:]]*\('
report "banned functions" "$(grep -nE "$banned" $src | grep -v 'lint-ok:')"
money=$(echo "$src" | grep -E '^(core|db)/')
report "float/double in core/ or db/" "$(grep -nwE 'float|double' $money | grep -v 'lint-ok:')"
notdb=$(echo "$src" | grep -vE '^db/')
report "SQL outside db/" "$(grep -nE '"[[:space:]]*(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM)[[:space:]]' $notdb | grep -v 'lint-ok:')"
# Handlers and jobs call core operations; only operations call db/.  No
# exception: a handler that needs the database needs an operation.
layers=$(echo "$src" | grep -E '^(fcgi|sched)/')
report "fcgi/ and sched/ must not include db/ headers (call an operation in core/ops/ instead)" \
    "$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<](\.\./)*db/' $layers)"
# The operations' headers are what handlers see: they name no db/ header,
# so a database type cannot reach a handler indirectly either.
opsh=$(echo "$src" | grep -E '^core/ops/.*\.h$')
report "core/ops/*.h must not include db/ headers (put shared types in core/model.h)" \
    "$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<](\.\./)*db/' $opsh)"
# The rules (core/*.c, libcore.a) do no I/O: no operation, database or
# network header.
rules=$(echo "$src" | grep -E '^core/[^/]+\.[ch]$')
report "core/*.[ch] (rules) must not include core/ops/, db/ or net/ headers" \
    "$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"(core/ops|db|net)/' $rules)"
[ $fail -eq 0 ] && echo "lint: clean"
exit $fail
