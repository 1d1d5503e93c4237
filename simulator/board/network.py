# `network` for the virtual board: Wi-Fi is always there unless the board says not.
import vboard

STA_IF = 0
AP_IF = 1


class WLAN:
    def __init__(self, interface=STA_IF):
        self._active = False

    def active(self, state=None):
        if state is None:
            return self._active
        self._active = bool(state)
        return None

    def connect(self, ssid=None, password=None):
        pass

    def isconnected(self):
        return self._active and vboard.wifi_up

    def ifconfig(self):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
