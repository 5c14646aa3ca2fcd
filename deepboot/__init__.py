"""DeepBoot's library: what every app's training and serving share, with no Django in it.

- `distribute`: the tf.distribute strategy (`--distribute`), the chief of a multi-worker run, and
  the precision policy (`--mixed-precision`) as a context a trainer enters.
- `hooks`: `TrainHooks`, what a trainer gets from whoever runs it (a recorded run, a test, a
  benchmark), and seeding.
- `cli`: command-line flags generated from a config dataclass's fields.
- `stopping`: SIGTERM and Ctrl-C during a run; `board`: TensorBoard event files.
- `imaging`: decoding and resizing uploads within a memory bound; `downloads`: fetching and safely
  unpacking data sets and weights.

The apps' cores (networks, data, training, evaluation) import from here; nothing here imports
Django, the site package or an app (tests/test_import_contracts.py holds this).
"""
