"""DataPilot's ingest library: one uploaded bronze object -> validated -> gold Delta table -> quality report ->
catalog graph. The `datapilot_ingest` DAG (`../datapilot_ingest.py`) and the CLI (`orchestration/pipeline.py`) call
it; the modules, in the order of the steps:

- `lake`: the layout (`bronze/org=<org>/<table>/<upload>/<file>`, `gold/org=<org>/<table>`) and parameter rules;
- `validate`: the object exists, has the announced size, and starts like its format (boto3, ranged GETs);
- `bronze_to_gold`: the load on Spark Connect (records, line numbers, typing, checks, idempotent Delta write);
- `quality`: the report of the version written;
- `profile`: the semantic layer of the version written (column statistics, meaning, value lists), on Spark;
- `publish`: the Dataset, the run's lineage and the semantic layer (Columns, references) in Neo4j;
- `steps`: each step as a task (settings from the environment, the Airflow error contract);
- `errors`, `config`: error codes; settings and clients.

It lives inside the DAGs folder because Airflow 3 puts the DAG bundle's folder on `sys.path` for the dag-processor
and for every task it runs, so `import datapilot_pipeline` works there and in an image that copies that one folder;
`.airflowignore` keeps the dag-processor from parsing the package's files as DAG files.
"""
