"""BLE streaming with bleak, and the virtual sensors that stand in for hardware.

- ``discovery``: scan for supported sensors, identify their model, read their battery.
- ``recorder``: record 1–4 sensors into the session store, with reconnects, de-duplication, gaps and
  per-sensor reports (``record``); ``timesync``: device clock to session clock.
- ``dot_sync``: Movella DOT's built-in time sync; ``live``: the live angle, reps and cues;
  ``calibration_guide``: the guided calibration; ``display``: the live recording table.
- ``bumble_backend``: a bleak backend (scanner and client) on Google's Bumble stack.
- ``virtual_radio``, ``virtual_clock``, ``virtual_firmware``, ``virtual_sensor``, ``virtual_rig``:
  virtual sensors of every supported model on an in-process radio with fault injection;
  ``virtual_rig.record_virtual`` records a simulated session through them (tests, demo, benchmarks).

See docs/ble.md.
"""
