"""Run by test_dag.py with the Airflow venv's Python (`.local/airflow-venv`), in a fresh AIRFLOW_HOME: loads the DAGs
folder as Airflow 3's dag-processor does and prints one JSON object on stdout.

    airflow_probe.py parse            the DagBag: import errors, files parsed, tasks, retries, and for each conf in
                                      the JSON list on stdin whether the trigger-time check accepts it
    airflow_probe.py run <conf.json>  one DAG run with `dag.test()` (tasks run in this process against the services
                                      of the environment): the run's state, task states and tries, and every XCom
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from airflow.dag_processing.dagbag import BundleDagBag

DAGS = Path(__file__).resolve().parents[1] / "dags"


def dag_bag() -> BundleDagBag:
    return BundleDagBag(dag_folder=DAGS, bundle_path=DAGS, bundle_name="dags-folder")


def parse() -> dict:
    from airflow.exceptions import ParamValidationError
    from airflow.serialization.serialized_objects import DagSerialization

    bag = dag_bag()
    dag = bag.dags["datapilot_ingest"]
    # What the REST API does with a trigger's conf (api_fastapi .../dag_run.py -> SerializedDAG.create_dagrun).
    served = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    accepted = []
    for conf in json.loads(sys.stdin.read()):
        try:
            served.params.deep_merge(conf).validate()
            accepted.append(True)
        except ParamValidationError:
            accepted.append(False)
    return {
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "files": sorted(str(Path(f).relative_to(DAGS)) for f in bag.file_last_changed),
        "dag_ids": sorted(bag.dags),
        "timetable": type(dag.timetable).__name__,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "tasks": {
            t.task_id: {
                "upstream": sorted(t.upstream_task_ids),
                "retries": t.retries,
                "retry_delay_s": t.retry_delay.total_seconds(),
                "backoff": t.retry_exponential_backoff,
            }
            for t in dag.tasks
        },
        "accepted": accepted,
    }


def run(conf_file: str) -> dict:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.settings import Session

    dag = dag_bag().dags["datapilot_ingest"]
    dr = dag.test(run_conf=json.loads(Path(conf_file).read_text()))
    session = Session()
    xcoms = session.query(XComModel).filter(XComModel.run_id == dr.run_id).all()
    tis = session.query(TaskInstance).filter(TaskInstance.run_id == dr.run_id).all()
    return {
        "state": str(dr.state),
        "tasks": {ti.task_id: {"state": str(ti.state), "tries": ti.try_number} for ti in tis},
        "xcoms": {f"{x.task_id}:{x.key}": XComModel.deserialize_value(x) for x in xcoms},
    }


if __name__ == "__main__":
    result = parse() if sys.argv[1] == "parse" else run(sys.argv[2])
    print("PROBE " + json.dumps(result, default=str))
