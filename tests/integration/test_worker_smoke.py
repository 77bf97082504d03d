from tests.support.worker import Worker


def test_worker_registers(worker: Worker) -> None:
    assert worker.proc.poll() is None
