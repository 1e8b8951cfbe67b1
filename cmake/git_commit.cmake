# Build-time step (cmake -P): fills the commit into the version header.
#   SRC_DIR  the source tree; IN  the header with the static parts filled at configure time;
#   OUT      the header the sources include;
#   COMMIT   when not empty, the commit to record (a tarball or a distribution's build, which has
#            no checkout: cmake -DAMPTUNE_GIT_COMMIT=...).
# Run on every build, so a rebuild after a pull, a checkout or an edit names the commit it was
# built from (configure time alone would keep the commit of the first configure). configure_file
# rewrites OUT only when its text changes, so an unchanged commit rebuilds nothing. A source tree
# that is not itself the top of a checkout (a tarball unpacked inside another repository) records
# "unknown" rather than the other repository's commit.
set(ENV{GIT_OPTIONAL_LOCKS} 0) # `git status` on every build must not take the index lock
set(AMPTUNE_GIT "")
if(COMMIT)
  set(AMPTUNE_GIT "${COMMIT}")
else()
  execute_process(COMMAND git rev-parse --show-toplevel
    WORKING_DIRECTORY ${SRC_DIR} OUTPUT_VARIABLE top OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(top)
    get_filename_component(top "${top}" REALPATH)
    get_filename_component(src "${SRC_DIR}" REALPATH)
  endif()
  if(top AND top STREQUAL src)
    execute_process(COMMAND git rev-parse --short=12 HEAD
      WORKING_DIRECTORY ${SRC_DIR} OUTPUT_VARIABLE AMPTUNE_GIT
      OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    execute_process(COMMAND git status --porcelain --untracked-files=no
      WORKING_DIRECTORY ${SRC_DIR} OUTPUT_VARIABLE dirty
      OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(AMPTUNE_GIT AND dirty)
      set(AMPTUNE_GIT "${AMPTUNE_GIT}-dirty")
    endif()
  endif()
endif()
if(NOT AMPTUNE_GIT)
  set(AMPTUNE_GIT "unknown")
endif()
configure_file(${IN} ${OUT} @ONLY)
