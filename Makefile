# amptune — thin wrapper around CMake. The README's two commands:
#   make demo   install what is missing, build, run the default demo
#   make test   install what is missing, build, run the whole test suite
# `make build` installs what building needs and builds, running nothing; `make deps` only
# installs (what building and the demo need;
# `make test-deps` adds what the tests need).

BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# nvcc is optional; find it where the CUDA toolkit puts it even when not on PATH.
NVCC := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
# (override: CMAKE_FLAGS=... given on the command line must not drop it)
ifneq ($(NVCC),)
override CMAKE_FLAGS += -DCMAKE_CUDA_COMPILER=$(NVCC)
endif

BUILD_PACKAGES := cmake pkg-config gcc g++ make check libsubunit-dev libopenblas-openmp-dev \
	libcjson-dev zlib1g-dev fortunes dataset-fashion-mnist
# the report tests check the HTML with xmllint and render it headless
TEST_PACKAGES := libxml2-utils chromium

# Installs the missing packages of $(1) as root, else prints the command and fails.
define install_missing
	@missing=""; \
	for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
		else \
			echo "missing Debian packages:$$missing"; \
			echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; \
			exit 1; \
		fi; \
	fi
endef

.PHONY: all deps test-deps configure build test demo clean

all: build

deps:
	$(call install_missing,$(BUILD_PACKAGES))

# after deps, so `make -j test` never runs two apt-gets at once
test-deps: deps
	$(call install_missing,$(TEST_PACKAGES))

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: test-deps build
	cd $(BUILD) && ctest --output-on-failure --verbose --timeout 900

# The demo sweep resumes when re-run (points already in runs/quick are skipped).
demo: build
	./$(BUILD)/amptune sweep sweeps/quick.ini --out runs/quick
	./$(BUILD)/amptune report runs/quick

clean:
	rm -rf $(BUILD)
