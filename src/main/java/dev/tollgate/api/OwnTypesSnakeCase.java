package dev.tollgate.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.PropertyNamingStrategy;
import com.fasterxml.jackson.databind.cfg.MapperConfig;
import com.fasterxml.jackson.databind.introspect.AnnotatedField;
import com.fasterxml.jackson.databind.introspect.AnnotatedMember;
import com.fasterxml.jackson.databind.introspect.AnnotatedMethod;
import com.fasterxml.jackson.databind.introspect.AnnotatedParameter;
import io.quarkus.jackson.ObjectMapperCustomizer;
import jakarta.inject.Singleton;

/**
 * snake_case JSON names for Tollgate's own types only. A global SNAKE_CASE strategy would also
 * rename the fields of other libraries' types read through the same ObjectMapper: the AWS Lambda
 * runtime deserialises API Gateway events ({@code requestContext.http.method}) with a copy of it,
 * and every Lambda request then failed with "Missing HTTP method in request event".
 */
@Singleton
public class OwnTypesSnakeCase extends PropertyNamingStrategy implements ObjectMapperCustomizer {

    private static final PropertyNamingStrategy SNAKE = PropertyNamingStrategies.SNAKE_CASE;

    @Override
    public void customize(ObjectMapper mapper) {
        mapper.setPropertyNamingStrategy(this);
    }

    @Override
    public String nameForField(MapperConfig<?> config, AnnotatedField field, String name) {
        return own(field) ? SNAKE.nameForField(config, field, name) : name;
    }

    @Override
    public String nameForGetterMethod(MapperConfig<?> config, AnnotatedMethod method, String name) {
        return own(method) ? SNAKE.nameForGetterMethod(config, method, name) : name;
    }

    @Override
    public String nameForSetterMethod(MapperConfig<?> config, AnnotatedMethod method, String name) {
        return own(method) ? SNAKE.nameForSetterMethod(config, method, name) : name;
    }

    @Override
    public String nameForConstructorParameter(MapperConfig<?> config, AnnotatedParameter parameter, String name) {
        return own(parameter) ? SNAKE.nameForConstructorParameter(config, parameter, name) : name;
    }

    private static boolean own(AnnotatedMember member) {
        return member.getDeclaringClass().getName().startsWith("dev.tollgate.");
    }
}
