//! Safe XML reading shared by the XML formats: no DTDs or entities, bounded depth and size.
