# Runs the demo firmware in QEMU for CTest and checks what it reports.
#   -DMODE=learn    erase the parameter flash (delete its file), run: the device must learn,
#                   reach REQUIRE_NEW percent on the new classes (from below it before),
#                   save, and produce the host's int8 features bit for bit
#   -DMODE=restore  run again on the saved flash: the device must restore the head without
#                   learning and report exactly the accuracy the learning run ended with
#   -DRUN=<emulator;args;firmware> -DLOG=<file> -DWORKDIR=<dir> [-DFLASH=<file>] [-DLEARN_LOG=<file>]
if(MODE STREQUAL "learn")
  file(REMOVE ${FLASH})
endif()
# WORKDIR: where the firmware's relative file names (data, parameter flash) resolve.
execute_process(COMMAND ${RUN} WORKING_DIRECTORY ${WORKDIR}
                OUTPUT_VARIABLE output ERROR_VARIABLE errors RESULT_VARIABLE result)
file(WRITE ${LOG} "${output}")
message("${output}")
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the firmware failed (exit ${result}): ${errors}")
endif()

function(field text phase key out)
  if(text MATCHES "DEMO phase=${phase} [^\n]*${key}=([0-9.]+)")
    set(${out} ${CMAKE_MATCH_1} PARENT_SCOPE)
  else()
    message(FATAL_ERROR "no '${key}' for phase ${phase} in the output")
  endif()
endfunction()

if(MODE STREQUAL "learn")
  field("${output}" before new_classes before_new)
  field("${output}" after new_classes after_new)
  field("${output}" after reference_mismatches mismatches)
  if(NOT output MATCHES "DEMO saved=ok")
    message(FATAL_ERROR "the learned head was not saved")
  endif()
  if(NOT mismatches EQUAL 0)
    message(FATAL_ERROR "the device's int8 features differ from the host's for ${mismatches} reference image(s)")
  endif()
  if(after_new LESS REQUIRE_NEW OR NOT after_new GREATER before_new)
    message(FATAL_ERROR "accuracy on the new classes: ${before_new}% before, ${after_new}% after (required: ${REQUIRE_NEW}%)")
  endif()
  message(STATUS "new classes: ${before_new}% -> ${after_new}% (required ${REQUIRE_NEW}%)")
elseif(MODE STREQUAL "restore")
  if(NOT output MATCHES "DEMO restored=ok")
    message(FATAL_ERROR "the device did not restore its head from flash")
  endif()
  if(output MATCHES "DEMO epoch=")
    message(FATAL_ERROR "the device trained again after the reboot")
  endif()
  file(READ ${LEARN_LOG} learned)
  field("${learned}" after accuracy learned_accuracy)
  field("${output}" restored accuracy restored_accuracy)
  if(NOT learned_accuracy STREQUAL restored_accuracy)
    message(FATAL_ERROR "accuracy after the reboot ${restored_accuracy}% differs from ${learned_accuracy}% after learning")
  endif()
  message(STATUS "restored accuracy ${restored_accuracy}% = learned accuracy")
else()
  message(FATAL_ERROR "MODE must be learn or restore")
endif()
