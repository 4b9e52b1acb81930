"""What the API and the worker share: settings, the Temporal client and payload codec, password
hashing, starting a petition's workflow and preparing the store. Beneath api/ and worker/."""
