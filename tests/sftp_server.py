"""A real SFTP server on loopback (asyncssh), for the sftp:// backup replica.

It serves one folder (chroot) to one client key, with its own host key, in a
thread with its own event loop. `client_key` is the private key file hostd
gives Litestream; `host_key` the public key line hostd pins.
"""

import asyncio
import os
import threading

import asyncssh

from conftest import free_port


class SftpServer:
    def __init__(self, root, key_dir):
        self.root = root
        self.port = free_port()
        server_key = asyncssh.generate_private_key("ssh-ed25519")
        client = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = key_dir / "sftp-client-key"
        client.write_private_key(str(self.client_key))
        os.chmod(self.client_key, 0o600)
        self.host_key = server_key.export_public_key().decode().strip()
        self._authorized = asyncssh.import_authorized_keys(client.export_public_key().decode())
        self._server_key = server_key
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sftp-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError("the SFTP server did not start")

    @staticmethod
    def other_host_key():
        return asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()

    def url(self, path):
        return "sftp://hostd@127.0.0.1:%d/%s" % (self.port, path)

    def _run(self):
        asyncio.set_event_loop(self._loop)
        root = str(self.root)

        class Chrooted(asyncssh.SFTPServer):
            def __init__(self, chan):
                super().__init__(chan, chroot=root)

        async def start():
            self._server = await asyncssh.listen(
                "127.0.0.1",
                self.port,
                server_host_keys=[self._server_key],
                authorized_client_keys=self._authorized,
                sftp_factory=Chrooted,
                allow_scp=False,
            )
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def close(self):
        def shut():
            self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(shut)
        self._thread.join(5)
