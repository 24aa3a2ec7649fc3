# Spark Connect server of the compose stack (SPARK_ENGINE=sail, the default): LakeSail at the
# versions the client pins in pyproject.toml (pysail 0.7.2 serves pyspark 4.2.0 clients), the
# engine every test runs on. Reads the lake on MinIO through the AWS_* environment variables.
FROM python:3.11-slim
RUN pip install --no-cache-dir pysail==0.7.2 pyspark-client==4.2.0 \
 && useradd --system --create-home --uid 10001 sail
USER sail
WORKDIR /home/sail
EXPOSE 15002
ENTRYPOINT ["sail", "spark", "server", "--ip", "0.0.0.0", "--port", "15002"]
