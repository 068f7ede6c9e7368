/**
 * The lake subgraph's client of Apache Airflow 3's REST API v2: the only caller of Airflow in DataPilot.
 *
 * It logs in as a service account (SimpleAuthManager user, admin role) with `POST /auth/token`, keeps the
 * token and renews it before it expires, and maps every failure onto DataPilot's error codes. Paths and
 * bodies follow Airflow 3.3's `openapi.json` (shipped in the apache-airflow-core wheel) and were checked
 * against a running Airflow 3.3.2 (see subgraphs/lake/test/airflow-client.test.ts).
 *
 * Errors (all `DataPilotError`; messages never carry the password, the token, or Airflow's echo of a body):
 * - `UPSTREAM_UNAVAILABLE`: Airflow cannot be reached, answers 5xx or anything unexpected, or refuses the
 *   service account (401/403 also after one renewal of the token).
 * - `UPSTREAM_TIMEOUT`: a call took longer than `timeoutMs` (token included).
 * - `BAD_USER_INPUT`: Airflow refused the input (400 or 422: a `conf` value rejected by the DAG's typed `Param`s,
 *   a run id outside Airflow's pattern); `extensions.detail` carries Airflow's `detail`, made safe (no echoed
 *   input, at most 500 characters).
 * - `NOT_FOUND`: a call that needs the DAG or the run (trigger, task list) found none; plain reads answer
 *   undefined instead.
 */
import { DataPilotError } from '@datapilot/common';

/** Options of {@link createAirflowClient}. */
export interface AirflowClientOptions {
  /** Airflow's base URL, e.g. `http://127.0.0.1:8090` (no trailing `/api/v2`). */
  url: string;
  /** The service account's user name. */
  username: string;
  /** Its password; never put into a message or a log. */
  password: string;
  /** Deadline of one client call in milliseconds, token request and one retry included (default 10 000). */
  timeoutMs?: number;
  /** The `fetch` to use (default the global one); tests wrap it to count or alter requests. */
  fetch?: typeof fetch;
  /** The clock in milliseconds since the epoch (default `Date.now`); tests move it to force a renewal. */
  now?: () => number;
}

/** A DAG run's state in Airflow 3 (`DagRunState`). */
export type DagRunState = 'queued' | 'running' | 'success' | 'failed';

/** One DAG run, from `GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}` (times are ISO 8601 UTC strings). */
export interface DagRun {
  dagId: string;
  /** The run id (`dag_run_id`). */
  dagRunId: string;
  state: DagRunState;
  /** The `conf` it was triggered with, as sent (the DAG's Param defaults are not filled in). */
  conf: Record<string, unknown>;
  /** `manual` for runs triggered through the API. */
  runType: string;
  queuedAt: string | null;
  startDate: string | null;
  endDate: string | null;
  /** Milliseconds from start to end, once ended (Airflow's `duration` is in seconds). */
  durationMs: number | null;
}

/** What {@link AirflowClient.triggerDagRun} answers: the run, and whether this call created it. */
export interface TriggeredDagRun extends DagRun {
  /** False when a run with the same id existed already (HTTP 409): that run is returned, its `conf` unchanged. */
  created: boolean;
}

/** One task instance of a run, from `GET .../dagRuns/{dag_run_id}/taskInstances`. */
export interface TaskInstance {
  taskId: string;
  /** `none`, `scheduled`, `queued`, `running`, `success`, `failed`, `up_for_retry`, `upstream_failed`, `skipped`, ... or null before scheduling. */
  state: string | null;
  /** Attempt number, 1 for the first try (0 before it was ever queued). */
  tryNumber: number;
  /** -1 unless the task is mapped. */
  mapIndex: number;
  startDate: string | null;
  endDate: string | null;
  /** Milliseconds from start to end, once ended (Airflow's `duration` is in seconds). */
  durationMs: number | null;
}

/** A DAG as the API shows it once parsed, from `GET /api/v2/dags/{dag_id}`. */
export interface Dag {
  dagId: string;
  isPaused: boolean;
  /** True when the DAG's file no longer defines it. */
  isStale: boolean;
  hasImportErrors: boolean;
  lastParsedTime: string | null;
}

/** `GET /api/v2/monitor/health`: each component's status (`healthy`, `unhealthy`, or null when never seen). */
export interface AirflowHealth {
  metadatabase: string | null;
  scheduler: string | null;
  dagProcessor: string | null;
  triggerer: string | null;
}

/** A client of one Airflow; see {@link createAirflowClient}. Every method is bounded by `timeoutMs`. */
export interface AirflowClient {
  /**
   * Triggers a run of `dagId` with a caller-chosen run id: `POST /api/v2/dags/{dag_id}/dagRuns` with
   * `{ dag_run_id, logical_date: null, conf }`. Idempotent: when the id exists (409) the existing run is
   * returned with `created: false`. Run ids must match Airflow's `[scheduler] allowed_run_id_pattern`
   * (default `^[A-Za-z0-9_.~:+-]+$`: no `/`, no spaces).
   * @throws DataPilotError BAD_USER_INPUT (conf rejected by the DAG's Params, bad run id), NOT_FOUND (no such
   *   DAG), UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT.
   */
  triggerDagRun(dagId: string, run: { dagRunId: string; conf?: Record<string, unknown> }): Promise<TriggeredDagRun>;
  /** The run, or undefined when the DAG or the run does not exist. `GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}`. */
  getDagRun(dagId: string, dagRunId: string): Promise<DagRun | undefined>;
  /**
   * The newest runs of `dagId` first (by `run_after`), at most `limit` (default 100, Airflow's page limit) and
   * the total count. `GET /api/v2/dags/{dag_id}/dagRuns?order_by=-run_after`.
   * @throws DataPilotError NOT_FOUND when the DAG does not exist.
   */
  listDagRuns(dagId: string, opts?: { limit?: number }): Promise<{ runs: DagRun[]; total: number }>;
  /**
   * Every task instance of the run, ordered by task id then map index (all pages).
   * `GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances`.
   * @throws DataPilotError NOT_FOUND when the DAG or the run does not exist.
   */
  listTaskInstances(dagId: string, dagRunId: string): Promise<TaskInstance[]>;
  /**
   * The XCom value a task pushed (default key `return_value`: what the task returned), as the JSON value it
   * was: Airflow 3.3 stores XComs as JSON and answers them unchanged (`deserialize=false`). A value that is not
   * plain JSON in Python (a tuple, a datetime, a set) comes back in Airflow's serde envelope
   * (`{"__classname__", "__version__", "__data__"}`): tasks meant for this client return JSON values.
   * Undefined when no such XCom (or run, or task) exists.
   * `GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries/{xcom_key}?map_index=`.
   */
  getXcom(
    dagId: string,
    dagRunId: string,
    taskId: string,
    key?: string,
    opts?: { mapIndex?: number },
  ): Promise<unknown>;
  /** The DAG once the dag-processor has parsed it, or undefined. `GET /api/v2/dags/{dag_id}`. */
  getDag(dagId: string): Promise<Dag | undefined>;
  /** Each component's health (no token needed). `GET /api/v2/monitor/health`. */
  getHealth(): Promise<AirflowHealth>;
  /**
   * Resolves when `dagId` can be triggered: Airflow answers, and the DAG is parsed, not paused, not stale and
   * without import errors. `GET /api/v2/dags/{dag_id}`.
   * @throws DataPilotError UPSTREAM_UNAVAILABLE (saying which), UPSTREAM_TIMEOUT.
   */
  ready(dagId: string): Promise<void>;
}

/** Share of a token's life after which it is renewed (80 %). */
const RENEW_AT_FRACTION = 0.8;
/** Longest `detail` text passed on in an error, in characters. */
const MAX_DETAIL_CHARS = 500;

/** Airflow's error body: `detail` is a string, a list of pydantic errors, or an object. */
type ErrorBody = { detail?: unknown };

/** The `iat` and `exp` claims (seconds) of a JWT, read without verifying it (it is Airflow's own, over loopback). */
function tokenTimes(token: string): { iat?: number; exp?: number } {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      iat?: unknown;
      exp?: unknown;
    };
    return {
      iat: typeof payload.iat === 'number' ? payload.iat : undefined,
      exp: typeof payload.exp === 'number' ? payload.exp : undefined,
    };
  } catch {
    return {};
  }
}

/**
 * Airflow's `detail` as safe text: a string keeps its first paragraph; pydantic lists become `body.conf: Input should be ...` (their `input`, an echo
 * of what was sent, is dropped); objects keep only `message` or `reason`; the result is cut to 500 characters and
 * `secrets` (password, token) are replaced, in case Airflow ever echoes them.
 */
function safeDetail(body: ErrorBody | undefined, secrets: string[]): string {
  const d = body?.detail;
  let text: string;
  if (typeof d === 'string')
    text = d.split('\n\n')[0] ?? ''; // Param errors go on with the whole JSON schema
  else if (Array.isArray(d))
    text = d
      .map((e: { loc?: unknown; msg?: unknown }) =>
        [Array.isArray(e?.loc) ? e.loc.join('.') : undefined, typeof e?.msg === 'string' ? e.msg : undefined]
          .filter(Boolean)
          .join(': '),
      )
      .join('; ');
  else if (d && typeof d === 'object') {
    const o = d as { message?: unknown; reason?: unknown };
    text = String(o.reason ?? o.message ?? '');
  } else text = '';
  for (const s of secrets) if (s) text = text.split(s).join('[redacted]');
  return text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS)}…` : text;
}

/** Resolves like `promise`, or rejects with the signal's reason once it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((ok, fail) => {
    const onAbort = () => fail(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        ok(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        fail(e as Error);
      },
    );
  });
}

/** Airflow's `duration` (seconds, or null) in whole milliseconds. */
const msOf = (seconds: unknown) => (typeof seconds === 'number' ? Math.round(seconds * 1000) : null);

/** Airflow's run JSON → {@link DagRun}. */
function toDagRun(r: Record<string, unknown>): DagRun {
  return {
    dagId: r.dag_id as string,
    dagRunId: r.dag_run_id as string,
    state: r.state as DagRunState,
    conf: (r.conf as Record<string, unknown> | null) ?? {},
    runType: r.run_type as string,
    queuedAt: (r.queued_at as string | null) ?? null,
    startDate: (r.start_date as string | null) ?? null,
    endDate: (r.end_date as string | null) ?? null,
    durationMs: msOf(r.duration),
  };
}

/** Airflow's task instance JSON → {@link TaskInstance}. */
function toTaskInstance(t: Record<string, unknown>): TaskInstance {
  return {
    taskId: t.task_id as string,
    state: (t.state as string | null) ?? null,
    tryNumber: t.try_number as number,
    mapIndex: t.map_index as number,
    startDate: (t.start_date as string | null) ?? null,
    endDate: (t.end_date as string | null) ?? null,
    durationMs: msOf(t.duration),
  };
}

/** A response that is not an error, with its parsed JSON body. */
type Answer = { status: number; body: unknown };

/**
 * Creates a client of the Airflow at `opts.url`; nothing is sent until the first call. The token from
 * `POST /auth/token` (`{username, password}` → `{access_token}`; Airflow 3.3 issues HS512 JWTs valid 24 h by
 * default, with no refresh token) is cached and fetched again once 80 % of its life (`exp` − `iat`, read from
 * its payload) has passed, or once when a call answers 401/403. Concurrent calls share one token request.
 */
export function createAirflowClient(opts: AirflowClientOptions): AirflowClient {
  const base = opts.url.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const doFetch = opts.fetch ?? fetch;
  const now = opts.now ?? Date.now;
  let token: { value: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const secrets = () => [opts.password, token?.value ?? ''];
  const unavailable = (why: string) =>
    new DataPilotError('UPSTREAM_UNAVAILABLE', `The orchestrator (Airflow) is unavailable: ${why}.`);

  /** One HTTP exchange; network failures and timeouts become DataPilotErrors. */
  async function send(path: string, init: RequestInit, signal: AbortSignal): Promise<Response> {
    try {
      return await doFetch(`${base}${path}`, { ...init, signal });
    } catch (e) {
      if (signal.aborted || (e as Error)?.name === 'TimeoutError')
        throw new DataPilotError(
          'UPSTREAM_TIMEOUT',
          `The orchestrator (Airflow) did not answer within ${timeoutMs} ms.`,
        );
      throw unavailable('it cannot be reached');
    }
  }

  async function readJson(res: Response): Promise<unknown> {
    const text = await res.text();
    if (!text) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw unavailable(`it answered HTTP ${res.status} with a body that is not JSON`);
    }
  }

  /** Fetches a new token (`POST /auth/token`). */
  async function login(signal: AbortSignal): Promise<string> {
    const issued = now();
    const res = await send(
      '/auth/token',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ username: opts.username, password: opts.password }),
      },
      signal,
    );
    const body = (await readJson(res)) as { access_token?: unknown } | undefined;
    if (res.status === 401 || res.status === 403)
      throw unavailable(`it refused the service account "${opts.username}" (HTTP ${res.status}; check its password)`);
    if (!res.ok || typeof body?.access_token !== 'string')
      throw unavailable(`its token endpoint answered HTTP ${res.status}`);
    const { iat, exp } = tokenTimes(body.access_token);
    const lifeMs = exp !== undefined ? (exp - (iat ?? issued / 1000)) * 1000 : Infinity;
    token = { value: body.access_token, renewAt: issued + RENEW_AT_FRACTION * lifeMs };
    return token.value;
  }

  /** The cached token, or a new one when there is none, it is due for renewal, or `stale` was refused. */
  function currentToken(signal: AbortSignal, stale?: string): Promise<string> {
    if (token && token.value !== stale && now() < token.renewAt) return Promise.resolve(token.value);
    if (token?.value === stale) token = undefined;
    // One request for everyone; it has its own deadline so one caller's abort does not fail the others.
    if (!pending) {
      pending = login(AbortSignal.timeout(timeoutMs)).finally(() => (pending = undefined));
      pending.catch(() => undefined); // every waiting caller gets the error; none left unhandled
    }
    return abortable(pending, signal);
  }

  /**
   * An authenticated request. 2xx and the statuses in `pass` are answered; 401/403 renew the token and retry
   * once; 400/422 → BAD_USER_INPUT; anything else → UPSTREAM_UNAVAILABLE.
   */
  async function call(
    method: 'GET' | 'POST',
    path: string,
    opt: { body?: unknown; pass?: number[]; auth?: boolean; what: string },
  ): Promise<Answer> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      let res: Response | undefined;
      let used: string | undefined;
      for (let attempt = 0; attempt < 2; attempt++) {
        const headers: Record<string, string> = { accept: 'application/json' };
        if (opt.body !== undefined) headers['content-type'] = 'application/json';
        if (opt.auth !== false) {
          used = await currentToken(signal, attempt > 0 ? used : undefined);
          headers.authorization = `Bearer ${used}`;
        }
        const body = opt.body === undefined ? undefined : JSON.stringify(opt.body);
        res = await send(path, { method, headers, body }, signal);
        if ((res.status !== 401 && res.status !== 403) || opt.auth === false) break;
        await res.body?.cancel();
      }
      const r = res as Response;
      if (r.ok || opt.pass?.includes(r.status)) return { status: r.status, body: await readJson(r) };
      if (r.status === 401 || r.status === 403)
        throw unavailable(`it refused the service account "${opts.username}" (HTTP ${r.status})`);
      if (r.status === 400 || r.status === 422) {
        const detail = safeDetail((await readJson(r).catch(() => undefined)) as ErrorBody, secrets());
        throw new DataPilotError('BAD_USER_INPUT', `Airflow rejected ${opt.what}: ${detail}`, { detail });
      }
      await r.body?.cancel();
      throw unavailable(`it answered HTTP ${r.status} for ${opt.what}`);
    } catch (e) {
      if (e instanceof DataPilotError) throw e;
      if (signal.aborted || (e as Error)?.name === 'TimeoutError')
        throw new DataPilotError(
          'UPSTREAM_TIMEOUT',
          `The orchestrator (Airflow) did not answer within ${timeoutMs} ms.`,
        );
      throw unavailable('an unexpected error occurred');
    }
  }

  const enc = encodeURIComponent;
  const runPath = (dagId: string, runId: string) => `/api/v2/dags/${enc(dagId)}/dagRuns/${enc(runId)}`;

  const client: AirflowClient = {
    async triggerDagRun(dagId, run) {
      const res = await call('POST', `/api/v2/dags/${enc(dagId)}/dagRuns`, {
        body: { dag_run_id: run.dagRunId, logical_date: null, conf: run.conf ?? {} },
        pass: [404, 409],
        what: `the run ${run.dagRunId} of ${dagId}`,
      });
      if (res.status === 404) throw new DataPilotError('NOT_FOUND', `The pipeline ${dagId} was not found.`);
      if (res.status === 409) {
        const existing = await client.getDagRun(dagId, run.dagRunId);
        if (!existing)
          throw new DataPilotError('CONFLICT', `The run ${run.dagRunId} of ${dagId} conflicts with another one.`);
        return { ...existing, created: false };
      }
      return { ...toDagRun(res.body as Record<string, unknown>), created: true };
    },

    async getDagRun(dagId, dagRunId) {
      const res = await call('GET', runPath(dagId, dagRunId), { pass: [404], what: `the run ${dagRunId}` });
      return res.status === 404 ? undefined : toDagRun(res.body as Record<string, unknown>);
    },

    async listDagRuns(dagId, o = {}) {
      const limit = o.limit ?? 100;
      const res = await call('GET', `/api/v2/dags/${enc(dagId)}/dagRuns?order_by=-run_after&limit=${limit}`, {
        pass: [404],
        what: `the runs of ${dagId}`,
      });
      if (res.status === 404) throw new DataPilotError('NOT_FOUND', `The pipeline ${dagId} was not found.`);
      const body = res.body as { dag_runs: Array<Record<string, unknown>>; total_entries: number };
      return { runs: body.dag_runs.map(toDagRun), total: body.total_entries };
    },

    async listTaskInstances(dagId, dagRunId) {
      const out: TaskInstance[] = [];
      for (let offset = 0; ;) {
        const res = await call(
          'GET',
          `${runPath(dagId, dagRunId)}/taskInstances?order_by=id&limit=100&offset=${offset}`,
          { pass: [404], what: `the tasks of run ${dagRunId}` },
        );
        if (res.status === 404) throw new DataPilotError('NOT_FOUND', `The run ${dagRunId} was not found.`);
        const body = res.body as { task_instances: Array<Record<string, unknown>>; total_entries: number };
        out.push(...body.task_instances.map(toTaskInstance));
        offset += body.task_instances.length;
        if (body.task_instances.length === 0 || offset >= body.total_entries)
          return out.sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : a.mapIndex - b.mapIndex));
      }
    },

    async getXcom(dagId, dagRunId, taskId, key = 'return_value', o = {}) {
      const res = await call(
        'GET',
        `${runPath(dagId, dagRunId)}/taskInstances/${enc(taskId)}/xcomEntries/${enc(key)}?map_index=${o.mapIndex ?? -1}`,
        { pass: [404], what: `the XCom ${key} of ${taskId}` },
      );
      return res.status === 404 ? undefined : (res.body as { value: unknown }).value;
    },

    async getDag(dagId) {
      const res = await call('GET', `/api/v2/dags/${enc(dagId)}`, { pass: [404], what: `the pipeline ${dagId}` });
      if (res.status === 404) return undefined;
      const d = res.body as Record<string, unknown>;
      return {
        dagId: d.dag_id as string,
        isPaused: d.is_paused as boolean,
        isStale: d.is_stale as boolean,
        hasImportErrors: d.has_import_errors as boolean,
        lastParsedTime: (d.last_parsed_time as string | null) ?? null,
      };
    },

    async ready(dagId) {
      const dag = await client.getDag(dagId);
      const why = !dag
        ? 'is not loaded yet'
        : dag.hasImportErrors
          ? 'has import errors'
          : dag.isPaused
            ? 'is paused'
            : dag.isStale
              ? 'is no longer defined by its file'
              : undefined;
      if (why) throw unavailable(`the pipeline ${dagId} ${why}`);
    },

    async getHealth() {
      const res = await call('GET', '/api/v2/monitor/health', { auth: false, what: 'the health check' });
      const h = res.body as Record<string, { status?: string | null } | undefined>;
      const s = (k: string) => h[k]?.status ?? null;
      return {
        metadatabase: s('metadatabase'),
        scheduler: s('scheduler'),
        dagProcessor: s('dag_processor'),
        triggerer: s('triggerer'),
      };
    },
  };
  return client;
}
