/** GET /v2/info (PROTOCOL.md §5.1): what a client needs to know before it asks anything. */
import * as W from '../../protocol/wire.ts';
import type { Handlers } from '../http.ts';

/** The info route. */
export const infoRoutes: Handlers<'info'> = {
  info: async (_req, { config, store }) => ({
    body: {
      v: W.VERSION, powBits: config.powBits, mailboxPowBits: config.mailboxPowBits, depositPowBits: config.depositPowBits,
      ttlDays: config.ttlMs / 86_400_000, blobSizes: [...W.BLOB_SIZES],
      maxBlobsPerMailbox: config.maxBlobsPerMailbox, maxBytesPerMailbox: config.maxBytesPerMailbox,
      checkpointKey: store.log.signer.vkey,
    },
  }),
};
