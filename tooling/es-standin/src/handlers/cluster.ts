/**
 * Cluster-level endpoints: info (`GET /`), ping (`HEAD /`) and cluster health.
 *
 * @module
 */
import { primaryShards } from '../es-index.js'
import type { Route } from '../route.js'

const LUCENE: Record<string, string> = { '8': '9.12.2', '9': '10.2.2' }

/** The cluster routes. */
export const clusterRoutes: Route[] = [
  {
    methods: ['GET'],
    path: '/',
    endpoint: 'info',
    params: [],
    handler: ({ cluster }) => ({
      status: 200,
      body: {
        name: cluster.identity.nodeName,
        cluster_name: cluster.identity.clusterName,
        cluster_uuid: cluster.clusterUuid,
        version: {
          number: cluster.identity.version,
          build_flavor: 'default',
          build_type: 'tar',
          build_hash: '0000000000000000000000000000000000000000',
          build_date: '2025-01-01T00:00:00.000000000Z',
          build_snapshot: false,
          lucene_version: LUCENE[String(cluster.major)] ?? '9.12.2',
          minimum_wire_compatibility_version: `${cluster.major - 1}.18.0`,
          minimum_index_compatibility_version: `${cluster.major - 1}.0.0`,
        },
        tagline: 'You Know, for Search',
      },
    }),
  },
  { methods: ['HEAD'], path: '/', endpoint: 'ping', params: [], handler: () => ({ status: 200 }) },
  ...(['/_cluster/health', '/_cluster/health/{index}'] as const).map(
    (path): Route => ({
      methods: ['GET'],
      path,
      endpoint: 'cluster.health',
      params: [
        'wait_for_status',
        'timeout',
        'master_timeout',
        'level',
        'local',
        'wait_for_active_shards',
        'wait_for_nodes',
        'wait_for_events',
        'wait_for_no_relocating_shards',
        'wait_for_no_initializing_shards',
        'expand_wildcards',
      ],
      handler: ({ cluster, params }) => {
        const indices = cluster.resolve(params.index, { ignoreUnavailable: true })
        const primaries = primaryShards(indices)
        const unassigned = indices.reduce((sum, index) => sum + index.shardCopies, 0) - primaries
        return {
          status: 200,
          body: {
            cluster_name: cluster.identity.clusterName,
            status: unassigned > 0 ? 'yellow' : 'green',
            timed_out: false,
            number_of_nodes: 1,
            number_of_data_nodes: 1,
            active_primary_shards: primaries,
            active_shards: primaries,
            relocating_shards: 0,
            initializing_shards: 0,
            unassigned_shards: unassigned,
            unassigned_primary_shards: 0,
            delayed_unassigned_shards: 0,
            number_of_pending_tasks: 0,
            number_of_in_flight_fetch: 0,
            task_max_waiting_in_queue_millis: 0,
            active_shards_percent_as_number:
              primaries + unassigned === 0 ? 100 : (100 * primaries) / (primaries + unassigned),
          },
        }
      },
    }),
  ),
]
