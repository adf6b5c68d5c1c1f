# The host's replay of the firmware's session must learn the same parameters, byte for byte.
#   -DCLOUD=<demo_cloud> -DDATA=<Fashion-MNIST folder> -DSTORE=<the replay's image>
#   -DFLASH=<the firmware's parameter flash after learning>
file(REMOVE ${STORE})
execute_process(COMMAND ${CLOUD} --data ${DATA} --store ${STORE}
                OUTPUT_VARIABLE output ERROR_VARIABLE errors RESULT_VARIABLE result)
message("${output}")
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the host's replay failed (exit ${result}): ${errors}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${STORE} ${FLASH} RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  file(SIZE ${STORE} store_size)
  file(SIZE ${FLASH} flash_size)
  message(FATAL_ERROR "the host learned other parameters than the device: ${STORE} (${store_size} B) and ${FLASH} (${flash_size} B) differ")
endif()
message(STATUS "host and device learned the same parameters (${FLASH})")
