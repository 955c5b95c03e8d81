import { memoryRecordFiles } from '../../src/core/store/record-file.ts'
import { defineRecordFileContract } from '../contract/record-file-contract.ts'

const data = new Map<string, Map<string, Map<number, Uint8Array>>>()
defineRecordFileContract('memory', {
  open(scope, name, recordBytes) {
    if (!data.has(scope)) data.set(scope, new Map())
    return memoryRecordFiles(data.get(scope)!)(name, recordBytes)
  },
})
