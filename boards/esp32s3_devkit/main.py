from boards.esp32s3_devkit import board
from hal.boot import boot
boot(board)
