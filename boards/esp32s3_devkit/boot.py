# Runs before main.py: the valve pins are driven low before anything else loads.
from boards.esp32s3_devkit import board
from hal.machine_hal import drive_valves_low

drive_valves_low(board)
