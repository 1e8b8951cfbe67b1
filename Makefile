# amptune — thin wrapper around CMake. The README's two commands:
#   make demo   install what is missing, build, run the default demo
#   make test   install what is missing, build, run the whole test suite
# `make build` only builds; `make deps` only installs.

BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# nvcc is optional; find it where the CUDA toolkit puts it even when not on PATH.
NVCC := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
ifneq ($(NVCC),)
CMAKE_FLAGS += -DCMAKE_CUDA_COMPILER=$(NVCC)
endif

DEBIAN_PACKAGES := cmake pkg-config gcc g++ make check libsubunit-dev libopenblas-openmp-dev \
	libinih-dev libcjson-dev zlib1g-dev fortunes dataset-fashion-mnist libxml2-utils chromium

.PHONY: all deps configure build test demo clean

all: build

deps:
	@missing=""; \
	for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
		else \
			echo "missing Debian packages:$$missing"; \
			echo "run: sudo apt-get install -y$$missing"; \
			exit 1; \
		fi; \
	fi

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure --verbose --timeout 900

# The demo sweep resumes when re-run (points already in runs/quick are skipped).
demo: build
	./$(BUILD)/amptune sweep sweeps/quick.ini --out runs/quick
	./$(BUILD)/amptune report runs/quick

clean:
	rm -rf $(BUILD)
