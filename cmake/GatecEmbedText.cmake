# gatec_embed_text(<output> <input> <delimiter>)
#
# Writes <output> (a .inc in the current binary dir) holding the text of
# <input> as one C++ raw string literal, R"<delimiter>(...)<delimiter>", so
# that a source file of generated code (a header's runtime, a program
# template) lives in the tree as real code, compiled and formatted like any
# other, and the compiler includes it as a string. Editing <input> re-runs
# CMake.
function(gatec_embed_text output input delimiter)
  file(READ ${input} GATEC_EMBED_TEXT)
  file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${output}
    CONTENT "R\"${delimiter}(@GATEC_EMBED_TEXT@)${delimiter}\"\n" @ONLY)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${input})
endfunction()
