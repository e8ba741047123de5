# Writes the C++ source that holds one static file of the public web
# (verify.js) as bytes, so the server needs no file beside its binary.
# cmake -DIN=file -DOUT=file.cc -DNAME=symbol -P embed.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
file(WRITE "${OUT}.tmp" "// Generated from ${IN} by web/embed.cmake: do not edit.\n#include <string_view>\nnamespace sunledger::web {\nnamespace {\nconst char bytes[] = {${bytes}};\n}  // namespace\nstd::string_view ${NAME}() { return {bytes, ${size}}; }\n}  // namespace sunledger::web\n")
file(RENAME "${OUT}.tmp" "${OUT}")
