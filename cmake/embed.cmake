# Turn a text file into a C string constant NAME (default
# dial_a_code_yaml) and its length NAME_len.
if(NOT NAME)
	set(NAME dial_a_code_yaml)
endif()
file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," content "${content}")
file(WRITE ${OUT} "/* generated from ${IN} */\n#include <stddef.h>\n"
	"const char ${NAME}[] = {${content} 0x00};\n"
	"const size_t ${NAME}_len = sizeof(${NAME}) - 1;\n")
