from boards.rp2040_pico import board
from hal.boot import boot
boot(board)
