# gdpseg: install into .venv, run the demo, run the tests.
#   make install   build .venv (idempotent: a second run does nothing)
#   make demo      install, then run the main job on its built-in default
#   make demo-cls, make demo-style   the same for classification and style transfer
#   make test      install, then run the whole test suite (make test-fast: the fast tier)
# A prebuilt mmcv wheel for this torch can be supplied with PIP_FIND_LINKS=<dir>.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
STAMPS := $(VENV)/.gdpseg-stamps
# Every install after torch is constrained to the pinned torch/mmcv, so nothing can swap them.
PIN    := -c requirements/torch.txt -c requirements/mminstall.txt

.PHONY: install demo demo-cls demo-style test test-fast clean-venv
install: $(STAMPS)/package

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMPS)/torch: requirements/torch.txt | $(PY)
	$(PIP) install --no-cache-dir -r requirements/torch.txt
	@mkdir -p $(STAMPS) && touch $@

# mmcv is compiled against the torch in this venv: no build isolation, and no wheel cache,
# which could hand back an mmcv built against another torch (undefined symbol on import).
$(STAMPS)/mmcv: requirements/mminstall.txt requirements/build.txt $(STAMPS)/torch
	$(PIP) install $(PIN) -r requirements/build.txt
	MMCV_WITH_OPS=1 $(PIP) install --no-build-isolation --no-cache-dir $(PIN) -r requirements/mminstall.txt
	@$(PY) tools/misc/check_mmcv.py || { \
	  echo "mmcv ops do not load with this torch; rebuilding mmcv from source (about 11 min on 2 cores)"; \
	  MMCV_WITH_OPS=1 $(PIP) install --force-reinstall --no-deps --no-binary mmcv --no-build-isolation \
	    --no-cache-dir -r requirements/mminstall.txt && $(PY) tools/misc/check_mmcv.py; }
	@touch $@

$(STAMPS)/deps: requirements/runtime.txt requirements/tests.txt $(STAMPS)/mmcv
	$(PIP) install $(PIN) -r requirements/runtime.txt -r requirements/tests.txt
	@touch $@

# mmpretrain without its declared dependencies: one of them (`modelindex`) is an unrelated PyPI
# package; the real ones are in runtime.txt.
$(STAMPS)/mmpretrain: requirements/mmpretrain.txt $(STAMPS)/deps
	$(PIP) install $(PIN) --no-deps -r requirements/mmpretrain.txt
	@touch $@

$(STAMPS)/package: setup.py $(STAMPS)/mmpretrain
	$(PIP) install $(PIN) --no-deps --no-build-isolation -e .
	@$(PY) -c "import gdpseg, mmseg.models, mmdet.models, segmentation_models_pytorch, torchvision.ops, onnxruntime, mmpretrain.models"
	@touch $@

demo: install
	$(PY) tools/demo.py

# the other task families, same steps: classification (mmpretrain) and style transfer
demo-cls: install
	$(PY) tools/demo.py --task cls

demo-style: install
	$(PY) tools/demo.py --task style

# the slowest tests listed at the end: where the suite's time goes
test: install
	$(PY) -m pytest tests --durations=15

# the fast tier for everyday work (no training, export or sweep of real models)
test-fast: install
	$(PY) -m pytest tests -m "not slow"

clean-venv:
	rm -rf $(VENV)
