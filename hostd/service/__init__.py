"""Running hostd as a system service: the systemd unit, and the sd_notify
protocol (READY, and a watchdog fed only while hostd does its work)."""
