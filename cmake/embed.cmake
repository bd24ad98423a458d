# Turns one file into C source: cmake -DIN=FILE -DOUT=FILE.c -DNAME=SYMBOL -P embed.cmake writes
# const unsigned char SYMBOL[] (the bytes, NUL-terminated) and const size_t SYMBOL_len (without
# the NUL). The web page's files stay readable HTML, CSS and JS in the tree and are compiled into
# the binary (statuspage.c), so rawlb serves them with nothing to install beside it.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR len "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# Sixteen bytes a line (CMake's regular expressions have no {16}) keeps the generated file readable.
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "/* Generated from ${IN} by cmake/embed.cmake: do not edit. */\n#include <stddef.h>\n"
     "extern const unsigned char ${NAME}[];\nextern const size_t ${NAME}_len;\n"
     "const unsigned char ${NAME}[] = {\n${bytes}0x00};\nconst size_t ${NAME}_len = ${len};\n")
