import { defineRecordFileContract } from '../contract/record-file-contract.ts'
import { remoteOpfsRecordFile } from './store-host.ts'

// Real OPFS files through sync access handles, in the host worker (the only place they exist).
defineRecordFileContract('opfs', { open: (scope, name, recordBytes) => remoteOpfsRecordFile(scope, name, recordBytes) })
