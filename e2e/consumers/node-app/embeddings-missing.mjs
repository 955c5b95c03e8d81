// A user who installed tiermem alone (transformers.js is an optional peer) and tries embeddings.
import { createEmbedder } from 'tiermem/embeddings'

try {
  await createEmbedder()
  console.log(JSON.stringify({ created: true }))
} catch (error) {
  console.log(JSON.stringify({ code: error.code, message: error.message }))
}
