"""Stores: entries kept outside the process (layer 2, beside ``checks``).

``interface`` (what a store is: ``StoreKey``, ``StoredEntry``, ``StoreStats``
and the ``Store`` protocol), ``serializers`` (values to bytes: pickle by
default), ``signing`` (the HMAC key), ``records`` (a record's bytes and
signature), ``outage`` (a failing backend bypassed with one warning),
``base`` (``RecordStore``, what both stores share), ``sqlite``
(``SQLiteStore``), ``redis_store`` (``RedisStore``), ``fleet``
(``load_or_build``: one build per burst of the same miss).
"""
