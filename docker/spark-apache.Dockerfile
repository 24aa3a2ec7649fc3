# Spark Connect server of the compose stack with SPARK_ENGINE=apache: Apache Spark 4.2.0, the
# version of the client (pyspark==4.2.0 in pyproject.toml; Spark comes from that very wheel),
# with Delta Lake 4.4.1 (delta-spark==4.4.1) and S3A, resolved once at build time.
FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
 && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir pyspark==4.2.0
ENV SPARK_HOME=/usr/local/lib/python3.11/site-packages/pyspark
COPY docker/spark/resolve_jars.py /tmp/resolve_jars.py
RUN python /tmp/resolve_jars.py \
 && cp /opt/ivy/jars/*.jar "$SPARK_HOME/jars/" \
 && rm -rf /opt/ivy /root/.ivy2 /tmp/resolve_jars.py \
 && useradd --system --create-home --uid 10001 spark
COPY docker/spark/spark-defaults.conf /opt/fastcart/spark-defaults.conf
USER spark
WORKDIR /home/spark
EXPOSE 15002
ENTRYPOINT ["/usr/local/lib/python3.11/site-packages/pyspark/bin/spark-submit", \
  "--class", "org.apache.spark.sql.connect.service.SparkConnectServer", \
  "--name", "fastcart-spark-connect", \
  "--properties-file", "/opt/fastcart/spark-defaults.conf"]
