# A thin wrapper over meson for the two commands in README.md, plus the
# pieces they are made of.  The build installs into build/root, the same
# layout as a package, so tests run what would be installed.

BUILD	?= build
PREFIX	 = $(CURDIR)/$(BUILD)/root
VAR	 = $(CURDIR)/var

.PHONY: all deps build run test bench clean

all: build

deps:
	@./tools/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson install -C $(BUILD) --quiet

run: deps build
	@./tools/run.sh $(PREFIX) $(VAR)

test: deps build
	@./tools/test.sh $(BUILD)

bench: deps build
	@./bench/run.sh $(PREFIX)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
