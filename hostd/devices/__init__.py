"""The devices: their registry, provisioning, flashing, labels, and what they show.

registry.py        device ids, windows, keys, rotation and revocation
firmware_image.py  the firmware image provisioning puts on a board
serial_board.py    the one module that knows the serial port
provision.py       provisioning (设备开通) over the serial REPL
flash.py           MicroPython onto a blank ESP32 (esptool)
label.py           a device label (设备标签) to print
render.py          Chinese text and the QR code as 1-bit parts
push.py            session and idle messages on a device's session topic

Imports: the rooms below (base, db, upstream, rules, casework, recording).
"""
