# cmake -DINPUT=<file.gz> -DOUTPUT=<file> -P Gunzip.cmake
# (CMake's own archive support does not read a bare .gz file.)
execute_process(COMMAND gzip -dc ${INPUT} OUTPUT_FILE ${OUTPUT}.partial RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  file(REMOVE ${OUTPUT}.partial)
  message(FATAL_ERROR "gzip could not unpack ${INPUT}")
endif()
file(RENAME ${OUTPUT}.partial ${OUTPUT})
