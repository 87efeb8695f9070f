# Turn a text file into a C string constant (dial_a_code_yaml).
file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," content "${content}")
file(WRITE ${OUT} "/* generated from ${IN} */\n#include <stddef.h>\n"
	"const char dial_a_code_yaml[] = {${content} 0x00};\n"
	"const size_t dial_a_code_yaml_len = sizeof(dial_a_code_yaml) - 1;\n")
