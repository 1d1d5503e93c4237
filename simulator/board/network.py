# `network` for the virtual board: a station interface that joins the hall's
# virtual access point (simulator/board/vboard.py) with the ESP32 port's
# status codes: a join takes a while, fails on a wrong password or a missing
# AP, and drops when the AP goes away. The STAT_* names are left out (the
# firmware uses the numbers): each name here would be a qstr in the pool the
# firmware's share, where on an ESP32 it is in ROM.
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
        if not self._active:
            raise OSError("Wifi Not Started")  # as the ESP32 port says
        state = vboard.state
        state[0] = 1001  # STAT_CONNECTING
        state[1] = 30  # status polls until the join settles
        state[2] = password
        state[5] += 1
        if state[5] == 1:
            vboard.event("wifi join after %d panel writes" % state[9])

    def status(self, *args):
        """The station's status now: one poll of its virtual time."""
        state = vboard.state
        state[8] += 1
        if state[8] % 500 == 0:
            vboard.event("wifi polls %d" % state[8])
        if state[0] == 1001:  # STAT_CONNECTING
            state[1] -= 1
            if state[1] <= 0:
                if not state[3]:
                    state[0] = 201  # STAT_NO_AP_FOUND
                elif state[4] is not None and state[2] != state[4]:
                    state[0] = 202  # STAT_WRONG_PASSWORD
                else:
                    state[0] = 1010  # STAT_GOT_IP
        elif state[0] == 1010 and (not state[3] or (state[4] is not None and state[2] != state[4])):
            state[0] = 200  # STAT_BEACON_TIMEOUT: the AP went, or came back with another password
        return state[0]

    def isconnected(self):
        return self._active and self.status() == 1010  # STAT_GOT_IP

    def ifconfig(self):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
