# Build-time step (cmake -P): fills the commit into the version header.
#   SRC_DIR  the source tree; IN  the header with the static parts filled at configure time;
#   OUT      the header the sources include.
# Run on every build, so a rebuild after a pull, a checkout or an edit names the commit it was
# built from (configure time alone would keep the commit of the first configure). configure_file
# rewrites OUT only when its text changes, so an unchanged commit rebuilds nothing.
execute_process(COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${SRC_DIR} OUTPUT_VARIABLE AMPTUNE_GIT
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND git status --porcelain --untracked-files=no
  WORKING_DIRECTORY ${SRC_DIR} OUTPUT_VARIABLE AMPTUNE_GIT_DIRTY
  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT AMPTUNE_GIT)
  set(AMPTUNE_GIT "unknown")
elseif(AMPTUNE_GIT_DIRTY)
  set(AMPTUNE_GIT "${AMPTUNE_GIT}-dirty")
endif()
configure_file(${IN} ${OUT} @ONLY)
